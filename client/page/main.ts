import { ChatApp } from "./app.js";
import { createClient, nodeUrls } from "./client.js";
import { TokenKeeper, fetchAuthMode } from "./identity.js";

// First of all, a sign-in link's token leaves the address bar (and the history entry).
const tokens = new TokenKeeper();
tokens.takeFromLink(location, history);
new ChatApp(nodeUrls(location), createClient).start({ tokens, mode: fetchAuthMode() });
