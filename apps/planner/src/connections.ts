import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/**
 * Tracks the server's connections and how many requests each has in flight, so that shutdown
 * can drop the ones doing nothing. Node's own `closeIdleConnections()` leaves alone a connection
 * that was opened but has not sent a request yet (HTTP clients such as undici open a spare one
 * after an aborted request); `server.close()` would then wait for its keep-alive timeout.
 */
export function trackConnections(server: Server): { closeUnused(): void } {
  const inFlight = new Map<Socket, number>();
  server.on('connection', (socket: Socket) => {
    inFlight.set(socket, 0);
    socket.once('close', () => inFlight.delete(socket));
  });
  server.on('request', (request, response) => {
    const socket = request.socket;
    inFlight.set(socket, (inFlight.get(socket) ?? 0) + 1);
    response.once('close', () => {
      const count = inFlight.get(socket);
      if (count !== undefined) inFlight.set(socket, Math.max(0, count - 1));
    });
  });
  return {
    closeUnused() {
      for (const [socket, count] of inFlight) {
        if (count === 0) socket.destroy();
      }
    },
  };
}
