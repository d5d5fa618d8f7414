// What each Bookinfo server does when its handler throws, so an emulator bug in one app answers one request the way
// the real server would instead of taking the mesh down:
// - productpage (Flask): werkzeug's InternalServerError page, 500;
// - details (WEBrick): HTTPResponse#set_error's page for a non-HTTPStatus exception, 500;
// - reviews (Liberty, JAX-RS): an unmapped exception propagates to the web container, 500 (its error page's text is
//   not emulated: nothing meshproof observes reads it);
// - ratings (Node http + httpdispatcher): nothing catches it, the process dies and the connection is reset; the
//   sidecar then answers 503 UC (connection termination). The container's restart is not emulated;
// - echo (Go net/http): the connection is closed without a response, so the same 503 UC.
import { meshLogError } from '../log.ts';
import type { AppKind } from '../topology.ts';
import type { AppHandler, AppResponse } from './types.ts';

/** Thrown by a guarded app whose server would have died with the request (the sidecar sees the connection reset). */
export class AppConnectionReset extends Error {
  override readonly name = 'AppConnectionReset';
}

const flaskInternalServerError: AppResponse = {
  status: 500,
  headers: { 'content-type': 'text/html; charset=utf-8' },
  body: '<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n<h1>Internal Server Error</h1>\n<p>The server encountered an internal error and was unable to complete your request. Either the server is overloaded or there is an error in the application.</p>\n',
};

const htmlEscapes: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };

function webrickInternalServerError(error: unknown): AppResponse {
  const message = (error instanceof Error ? error.message : String(error)).replace(/[&<>"]/g, (c) => htmlEscapes[c] ?? c);
  return {
    status: 500,
    headers: { 'content-type': 'text/html; charset=ISO-8859-1' },
    body: `<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN">\n<HTML>\n  <HEAD><TITLE>Internal Server Error</TITLE></HEAD>\n  <BODY>\n    <H1>Internal Server Error</H1>\n    ${message}\n    <HR>\n  </BODY>\n</HTML>\n`,
  };
}

function crashAnswer(kind: AppKind, error: unknown): AppResponse {
  switch (kind) {
    case 'productpage':
      return flaskInternalServerError;
    case 'details':
      return webrickInternalServerError(error);
    case 'reviews':
      return { status: 500, headers: { 'content-type': 'text/html;charset=ISO-8859-1' }, body: '' };
    case 'ratings':
    case 'echo':
    case 'opa':
      // OPA is a Go net/http server too. The echo stands for Istio's echo app, a Go net/http server: a panic in a handler is recovered by the server,
      // which closes the connection without a response (net/http server.go conn.serve).
      throw new AppConnectionReset(error instanceof Error ? error.message : String(error));
  }
}

/** The app as its server runs it: an exception in a handler is logged and answered as that server would. */
export function guardApp(kind: AppKind, podName: string, handler: AppHandler): AppHandler {
  return async (req) => {
    try {
      return await handler(req);
    } catch (error) {
      if (error instanceof AppConnectionReset) throw error; // a reset the app stages on purpose (the echo's errors)
      meshLogError(podName, `unhandled exception in ${req.method} ${req.path}`, error);
      return crashAnswer(kind, error);
    }
  };
}
