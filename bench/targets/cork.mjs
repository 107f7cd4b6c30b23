// Preloaded (`node --import`) into a server to measure one server-side lever without changing the
// server: "Socket.IO writes one frame per syscall; a socket that receives several frames in one tick
// can be corked and uncorked on the next tick."
//
// engine.io's WebSocket transport writes each packet of a flush with its own ws send, so each frame
// is its own write(2). Here the TCP socket under the transport is corked on the first send of a tick
// and uncorked on process.nextTick: every frame the socket gets in the same tick leaves in one write.

import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

// engine.io as the server resolves it, from the directory the server runs in.
const fromServer = createRequire(pathToFileURL(`${process.cwd()}/`).href);
const WebSocket = fromServer("engine.io").transports.websocket;

const CORKED = Symbol("bench.corked");
const send = WebSocket.prototype.send;
/** @param {unknown[]} packets */
WebSocket.prototype.send = function corkedSend(packets) {
  const tcp = this.socket?._socket;
  if (tcp && !tcp[CORKED] && typeof tcp.cork === "function") {
    tcp[CORKED] = true;
    tcp.cork();
    process.nextTick(() => {
      tcp[CORKED] = false;
      tcp.uncork();
    });
  }
  return send.call(this, packets);
};
