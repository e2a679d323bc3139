import type { Command } from 'commander';
import { BusGateway } from '../host/bus-gateway.js';
import { natsOption, untilSignal } from './worker-command.js';
import { wholeNumber, withServerOptions } from './cli-args.js';

interface GatewayOptions {
  nats?: string;
  host: string;
  port: number;
  token?: string;
  maxClients?: number;
}

/** Registers `neurorx gateway`: WebSockets and dashboards for every session of the pool, from the bus. */
export function registerGatewayCommand(program: Command): void {
  withServerOptions(
    program
      .command('gateway')
      .description('serve every session of the pool from NATS: WebSocket and dashboard at /sessions/<id>, an overview at /; run several behind a TCP load balancer')
      .option('--nats <urls>', 'NATS server URLs, comma-separated (default $NEURORX_NATS)'),
  )
    .option('--max-clients <n>', 'WebSocket clients at most, over all sessions and per session', wholeNumber('--max-clients'))
    .action(async (o: GatewayOptions) => {
      const servers = natsOption(o.nats);
      const log = (line: string): void => void process.stderr.write(`gateway: ${line}\n`);
      const token = o.token ?? process.env.NEURORX_TOKEN;
      const gateway = await BusGateway.start({
        servers,
        log,
        server: { host: o.host, port: o.port, ...(token ? { token } : {}), ...(o.maxClients !== undefined ? { maxClients: o.maxClients, maxClientsPerSession: o.maxClients } : {}) },
        names: { token: '--token', host: '--host', port: '--port' },
      });
      const { address } = gateway.server;
      log(`http://${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}/ (sessions at /sessions/<id>/, API at /api/sessions)`);
      await untilSignal();
      await gateway.close();
    });
}
