"""Running the service under uvicorn, as `credwatch serve` does."""

from __future__ import annotations

from serving.logs import log_config


def run(*, host: str, port: int, workers: int = 1, log_level: str = "INFO") -> None:
    """Serve until interrupted; each worker process loads the model itself."""
    import uvicorn

    uvicorn.run(
        "serving.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=log_config(log_level),
        # asyncio's own loop: under uvloop this service's answers stalled for a
        # second now and then at 64 concurrent connections (bench/serving_bench.py).
        loop="asyncio",
        http="httptools",
        # Our middleware writes the one line per request.
        access_log=False,
        # Behind a TLS-terminating proxy, trust its X-Forwarded-* headers (from the
        # addresses in FORWARDED_ALLOW_IPS, loopback by default).
        proxy_headers=True,
        timeout_graceful_shutdown=20,
    )
