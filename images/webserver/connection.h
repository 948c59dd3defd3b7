#pragma once
// One HTTP connection, served on its own thread of the HTTP core.

#include "images/webserver/server.h"

namespace uk::web {

// Reads and answers requests until the client closes, asks to close, sends
// something that cannot be parsed, or the watchdog cuts it off.
void Serve(Server& server, Server::Connection& connection);

// Answers 503 (too many connections) without reading the request.
void RefuseBusy(Server& server, Server::Connection& connection);

}  // namespace uk::web
