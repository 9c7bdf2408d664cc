"""The bare-Flask baseline: a WeChat callback that answers `success`, and an upload that stores the file."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from flask import Flask, request

app = Flask(__name__)
UPLOADS = Path(os.environ.get("BENCH_UPLOAD_DIR", "/tmp/gongzhi-bench-uploads"))


@app.get("/")
def index() -> str:
    return "ok"


@app.post("/wechat")
def wechat() -> str:
    request.get_data()
    return "success"


@app.post("/upload")
def upload() -> tuple[dict[str, str], int]:
    photo = request.files["photo"]
    UPLOADS.mkdir(parents=True, exist_ok=True)
    name = f"{uuid.uuid4().hex}.jpg"
    photo.save(UPLOADS / name)
    return {"photo": name, "description": request.form.get("description", "")}, 201
