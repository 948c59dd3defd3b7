#pragma once
// One HTTP connection, served on its own thread of the HTTP core.

#include <cstddef>
#include <span>

#include "apps/http/response.h"
#include "apps/webserver/server.h"

namespace uk::web {

// A connection's buffers (~60 KiB), for Server::Connection::state; nullptr
// when memory is short (never panics). DeleteConnectionState takes nullptr.
void* NewConnectionState();
void DeleteConnectionState(void* state);

// Reads and answers requests until the client closes, asks to close, sends
// something that cannot be parsed, or the watchdog cuts it off.
void Serve(Server& server, Server::Connection& connection);

// Answers 503 (too many connections) without reading the request, then
// closes lingering: the client sees the 503, not a reset.
void RefuseBusy(Server& server, Server::Connection& connection);

// The 503 "too busy" response, with Connection: close.
http::WriteResult<size_t> WriteBusyResponse(const Server& server, std::span<char> buffer);

}  // namespace uk::web
