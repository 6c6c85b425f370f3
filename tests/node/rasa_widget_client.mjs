// A customer as a Rasa web widget connects: socket.io-client (the library those widgets use),
// default transports (long-polling first, then the upgrade to WebSocket), Rasa's events.
// Usage: node rasa_widget_client.mjs URL SESSION_ID MESSAGE [MESSAGE...]
// A message "#1" presses the first quick reply of the last answer. Prints one JSON line per
// bot_uttered, then {"done": true}.
import { io } from "socket.io-client";

const [url, requestedSession, ...messages] = process.argv.slice(2);
let sessionId = requestedSession;
const socket = io(url, { path: "/socket.io/", reconnection: false, timeout: 10000 });
let last = [];
let batch = [];
let quietTimer = null;

function fail(reason) {
  console.log(JSON.stringify({ error: String(reason) }));
  process.exit(1);
}
setTimeout(() => fail("timed out"), 30000);

function sendNext() {
  const next = messages.shift();
  if (next === undefined) {
    console.log(JSON.stringify({ done: true, transport: socket.io.engine.transport.name }));
    socket.close();
    process.exit(0);
  }
  let message = next;
  if (next.startsWith("#")) {
    const replies = last.flatMap((m) => m.quick_replies || []);
    const chosen = replies[Number(next.slice(1)) - 1];
    if (!chosen) fail(`no quick reply ${next}`);
    message = chosen.payload;
  }
  batch = [];
  socket.emit("user_uttered", { message, session_id: sessionId, customData: { language: "en" } });
}

socket.on("connect_error", (err) => fail(err.message));
socket.on("connect", () => socket.emit("session_request", { session_id: sessionId }));
socket.on("session_confirm", (confirmed) => {
  console.log(JSON.stringify({ session_confirm: confirmed }));
  // As rasa-webchat does: the session the server confirms is the one to speak for.
  sessionId = (confirmed && confirmed.session_id) || confirmed;
  sendNext();
});
socket.on("bot_uttered", (message) => {
  console.log(JSON.stringify({ bot_uttered: message }));
  batch.push(message);
  clearTimeout(quietTimer);
  // The bot has finished answering when nothing more comes for a moment.
  quietTimer = setTimeout(() => {
    last = batch;
    sendNext();
  }, 400);
});
