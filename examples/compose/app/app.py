"""A tiny shop front that depends on two services: users and catalog.

    GET /summary/<user_id>/<sku>  ->  {"customer": ..., "product": ..., "price": ...}

Where the services are comes from the environment (USERS_URL, CATALOG_URL), the twelve-factor
way: in docker-compose.yml they point at mockserver containers, in production at the real
services. Standard library only, so it runs on a plain python image.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# Internal services are called directly, never through an HTTP proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def fetch(base_url: str, path: str) -> Any:
    with _OPENER.open(base_url.rstrip("/") + path, timeout=5) as response:
        return json.load(response)


def summary(user_id: str, sku: str) -> dict[str, Any]:
    user = fetch(os.environ["USERS_URL"], f"/api/user/{user_id}")
    product = fetch(os.environ["CATALOG_URL"], f"/api/products/{sku}")
    return {"customer": user["name"], "product": product["title"], "price": product["price"]}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        parts = self.path.strip("/").split("/")
        if len(parts) == 3 and parts[0] == "summary":
            try:
                status, body = 200, summary(parts[1], parts[2])
            except urllib.error.HTTPError as exc:
                status, body = 502, {"error": f"{exc.url} answered {exc.code}"}
        elif self.path == "/health":
            status, body = 200, {"status": "ok"}
        else:
            status, body = 404, {"error": "try /summary/<user_id>/<sku>"}
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def main() -> None:
    port = int(os.environ.get("PORT", "8000"))
    server = ThreadingHTTPServer(("0.0.0.0", port), Handler)
    print(
        f"shop front on :{port}; users at {os.environ['USERS_URL']}, "
        f"catalog at {os.environ['CATALOG_URL']}",
        flush=True,
    )
    server.serve_forever()


if __name__ == "__main__":
    main()
