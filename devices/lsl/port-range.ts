import dgram from 'node:dgram';
import net from 'node:net';
import { bindAddress, type LslConfig } from './lsl-config.js';

/**
 * Binds like liblsl (src/socket_utils.cpp): the first free port of [basePort, basePort+portRange),
 * so that peers that only know a host (KnownPeers, machine scope) find us by probing the range;
 * a random port when the range is full. Sockets listen on the interfaces `config.bind` allows.
 */
export async function bindUdpInRange(config: LslConfig): Promise<dgram.Socket> {
  for (let port = config.basePort; port < config.basePort + config.portRange; port++) {
    const sock = dgram.createSocket({ type: 'udp4' });
    if (await tryBind(sock, port, bindAddress(config))) return sock;
    sock.close();
  }
  const sock = dgram.createSocket({ type: 'udp4' });
  await tryBind(sock, 0, bindAddress(config));
  return sock;
}

function tryBind(sock: dgram.Socket, port: number, address: string): Promise<boolean> {
  return new Promise((resolve) => {
    const onError = (): void => resolve(false);
    sock.once('error', onError);
    sock.bind({ port, address, exclusive: true }, () => {
      sock.off('error', onError);
      resolve(true);
    });
  });
}

export async function listenTcpInRange(server: net.Server, config: LslConfig): Promise<number> {
  for (let port = config.basePort; port < config.basePort + config.portRange; port++) {
    if (await tryListen(server, port, bindAddress(config))) return port;
  }
  await tryListen(server, 0, bindAddress(config));
  return (server.address() as net.AddressInfo).port;
}

function tryListen(server: net.Server, port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const onError = (): void => {
      server.off('listening', onListening);
      resolve(false);
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve(true);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ port, host, exclusive: true });
  });
}
