"""/api/docs: Swagger UI served from the swagger-ui-bundle package, never from a CDN."""

import os

from flask import Blueprint, send_from_directory
from swagger_ui_bundle import swagger_ui_path

blp = Blueprint("docs", __name__, url_prefix="/api/docs")
PAGE_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)), "static", "docs")


@blp.get("")
def page():
    return send_from_directory(PAGE_DIR, "index.html")


@blp.get("/init.js")
def init_script():
    return send_from_directory(PAGE_DIR, "init.js")


@blp.get("/assets/<path:filename>")
def assets(filename: str):
    return send_from_directory(swagger_ui_path, filename, max_age=86400)
