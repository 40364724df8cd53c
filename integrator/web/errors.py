"""Errors answered in JSON under /api and as a Finnish page elsewhere."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)

FI_TITLES = {400: "Virheellinen pyyntö", 401: "Kirjaudu sisään", 403: "Ei oikeutta", 404: "Ei löytynyt",
             405: "Toiminto ei ole sallittu", 409: "Ristiriita", 413: "Tiedosto on liian suuri",
             429: "Liian monta yritystä", 500: "Palvelussa tapahtui virhe"}


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)


def _http_error(err: HTTPException) -> ResponseReturnValue:
    code = err.code or 500
    if request.path.startswith("/api/"):
        resp = jsonify(error=err.name.lower().replace(" ", "_"), message=err.description)
        resp.status_code = code
        if code == 405 and err.get_headers():
            for k, v in err.get_headers():
                if k.lower() == "allow":
                    resp.headers["Allow"] = v
        return resp
    # Our own descriptions are Finnish; werkzeug's defaults ("The requested URL was not found on
    # the server...") are not, and the page says the same in Finnish without them.
    ours = err.description if err.description != type(err).description else None
    return render_template("error.html", code=code, title=FI_TITLES.get(code, "Virhe"),
                           message=ours if code < 500 else None), code


def _unexpected(err: Exception) -> ResponseReturnValue:
    if isinstance(err, HTTPException):
        return _http_error(err)
    log.exception("unhandled error", extra={"endpoint": request.endpoint})
    return _http_error(InternalServerError())
