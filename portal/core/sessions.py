"""Flask's signed-cookie session, with its signing serializer built once per set of keys.

Flask builds a new ``URLSafeTimedSerializer`` for every request that opens or saves a session,
and itsdangerous's constructor serialises an empty dict to learn whether its serializer speaks
text: under the comment surge that was 2 % of the worker's CPU (issue 8, a py-spy profile of
2026-12-08). The serializer holds no state between calls (each ``loads`` and ``dumps`` makes its
own signer), so one per secret key and fallbacks serves every thread. A change of
``SECRET_KEY`` or ``SECRET_KEY_FALLBACKS`` builds a new one.
"""

from __future__ import annotations

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer


class SessionInterface(SecureCookieSessionInterface):
    def __init__(self) -> None:
        #: (fallback keys..., current key) -> the serializer; only the latest set is kept
        self._serializers: dict[tuple, URLSafeTimedSerializer] = {}

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        if not app.secret_key:
            return None
        keys = (*(app.config["SECRET_KEY_FALLBACKS"] or ()), app.secret_key)
        found = self._serializers.get(keys)
        if found is None:
            found = super().get_signing_serializer(app)
            self._serializers = {keys: found}
        return found
