/** A real connected socket pair through a listening server, for tests of code above the socket. */
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';

export interface SocketPair {
  ours: Socket;
  peer: Socket;
  /** Destroys both ends and closes the server. */
  close(): Promise<void>;
}

/** Over loopback TCP, or over the unix socket at `path` when one is given. */
export async function socketPair(path?: string): Promise<SocketPair> {
  const server = createServer();
  if (path === undefined) server.listen(0, '127.0.0.1');
  else server.listen(path);
  await once(server, 'listening');
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const ours = path === undefined ? connect((server.address() as { port: number }).port, '127.0.0.1') : connect(path);
  await once(ours, 'connect');
  const [peer] = await accepted;
  return {
    ours,
    peer,
    close: async () => {
      ours.destroy();
      peer.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
