import { ChatApp } from "./app.js";
import { createClient, nodeUrls } from "./client.js";

new ChatApp(nodeUrls(location), createClient).start();
