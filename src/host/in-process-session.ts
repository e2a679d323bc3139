import type { SessionCore } from '../session/run-session.js';
import type { HostedSession } from './hosted-session.js';

/** A session opened in this thread (openSession), seen as a HostedSession: for tests, and hosts that need no isolation. */
export function inProcessSession(id: string, core: SessionCore): HostedSession {
  return {
    id,
    topics: core.topics,
    hello: () => core.hello(),
    catchUp: () => core.catchUp(),
    // Thrown refusals become rejections, as they are for a session in another thread.
    control: (m) =>
      new Promise<void>((resolve) => {
        core.control(m);
        resolve();
      }),
    attach: (sink) => core.attach(sink),
  };
}
