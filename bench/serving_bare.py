"""The yardstick of the serving benchmark: a bare FastAPI endpoint returning a constant.

Same framework, server and route as the scoring service, none of its work, so the
difference between the two is what scoring costs.
"""

from __future__ import annotations

from fastapi import FastAPI

CONSTANT = {"risk": 0.0, "tier": "none"}

app = FastAPI()


@app.post("/v1/score")
async def score() -> dict[str, object]:
    return CONSTANT
