"""A client system's webhook endpoint for the notifications tests.

Every POST is verified with the `standardwebhooks` library (code Folio did
not write) and recorded. POST /_control sets the signing secret, the status
to answer and a delay; GET /_received lists what arrived. Prints its port.
"""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook

state = {"secret": None, "status": 204, "delay": 0.0, "received": []}
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _answer(self, status, body=b""):
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        with lock:
            body = json.dumps(state["received"]).encode()
        self._answer(200, body)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        if self.path == "/_control":
            with lock:
                state.update(json.loads(body))
            return self._answer(200, b"{}")
        with lock:
            secret, status, delay = state["secret"], state["status"], state["delay"]
        headers = {k.lower(): v for k, v in self.headers.items()}
        entry = {
            "path": self.path,
            "id": headers.get("webhook-id"),
            "timestamp": headers.get("webhook-timestamp"),
            "body": body.decode("utf-8", "replace"),
            "verified": False,
            "error": None,
        }
        try:
            Webhook(secret).verify(body, headers)
            entry["verified"] = True
        except Exception as error:  # recorded, the test decides
            entry["error"] = repr(error)
        with lock:
            state["received"].append(entry)
        if delay:
            time.sleep(delay)
        self._answer(status)


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
