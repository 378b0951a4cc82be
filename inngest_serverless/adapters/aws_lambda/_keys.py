"""Inngest keys from AWS Secrets Manager or SSM Parameter Store, through Powertools Parameters.

Powertools (``inngest-serverless[aws]``) and boto3 are imported only when a
secret or parameter is configured, so an app that takes its keys from plain
environment variables pays nothing for this at cold start.

The secret or parameter holds either the signing key itself, or a JSON object
keyed by the environment variable names: ``{"INNGEST_SIGNING_KEY": ...,
"INNGEST_SIGNING_KEY_FALLBACK": ..., "INNGEST_EVENT_KEY": ...}``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypedDict, cast

from inngest_serverless.core.errors import InngestError
from inngest_serverless.core.wire import Env

if TYPE_CHECKING:
    from inngest_serverless.core.client import Inngest

# Where the keys live: a Secrets Manager secret name or ARN, or an SSM parameter
# name (SecureString is decrypted).
SECRET_ENV = Env.SIGNING_KEY_SECRET_ARN
PARAMETER_ENV = Env.SIGNING_KEY_PARAMETER
DEFAULT_MAX_AGE = 300  # seconds a fetched value is reused: a rotated key is picked up within this

# JSON field in the secret -> Config / Inngest() argument name.
_FIELDS = {
    Env.SIGNING_KEY: "signing_key",
    Env.SIGNING_KEY_FALLBACK: "signing_key_fallback",
    Env.EVENT_KEY: "event_key",
}


class AwsKeys(TypedDict, total=False):
    """What :func:`aws_keys` returns: ``Inngest()`` arguments, so ``Inngest(app_id=..., **aws_keys())``
    type-checks (each key is present only when the secret or parameter holds it)."""

    signing_key: str
    signing_key_fallback: str
    event_key: str


class KeySourceError(InngestError, RuntimeError):
    """The configured secret or parameter could not be read or holds no signing key."""


@dataclass(frozen=True)
class AwsKeySource:
    """One secret or one parameter holding the app's keys, cached for ``max_age`` seconds."""

    secret: str | None = None
    parameter: str | None = None
    max_age: int = DEFAULT_MAX_AGE

    @classmethod
    def resolve(cls, secret: str | None = None, parameter: str | None = None,
                max_age: int = DEFAULT_MAX_AGE) -> AwsKeySource | None:
        """The source the arguments, else the environment, name; None when neither names one."""
        if secret is None and parameter is None:
            secret = os.environ.get(SECRET_ENV) or None
            parameter = None if secret else os.environ.get(PARAMETER_ENV) or None
        if secret and parameter:
            raise ValueError("give the keys' location once: a Secrets Manager secret or an SSM parameter, not both")
        return cls(secret, parameter, max_age) if secret or parameter else None

    @property
    def description(self) -> str:
        return f"Secrets Manager secret {self.secret!r}" if self.secret else f"SSM parameter {self.parameter!r}"

    def fetch(self) -> AwsKeys:
        """The keys as ``Inngest()`` arguments (``signing_key`` and, if present, the others)."""
        try:
            from aws_lambda_powertools.utilities import parameters
        except ImportError:
            raise KeySourceError(
                f"reading keys from the {self.description} needs: pip install 'inngest-serverless[aws]'") from None
        try:
            if self.secret:
                raw: object = parameters.get_secret(self.secret, max_age=self.max_age)
            else:
                raw = parameters.get_parameter(str(self.parameter), decrypt=True, max_age=self.max_age)
        except Exception as err:  # boto3/Powertools raise many types; the message names none of the value
            raise KeySourceError(f"could not read the {self.description}: {type(err).__name__}") from None
        return self._parse(raw)

    def _parse(self, raw: object) -> AwsKeys:
        text = (raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw or "")).strip()
        if text.startswith("{"):
            try:
                data = json.loads(text)
            except ValueError:
                raise KeySourceError(f"the {self.description} looks like JSON but does not parse") from None
            # _FIELDS' values are AwsKeys' keys, which a comprehension cannot show the type checker.
            keys = cast(AwsKeys, {arg: str(data[name]).strip() for name, arg in _FIELDS.items()
                                  if isinstance(data, dict) and data.get(name)})
        else:
            keys = AwsKeys(signing_key=text) if text else AwsKeys()
        if not keys.get("signing_key"):
            raise KeySourceError(
                f"the {self.description} holds no signing key (a plain key, or JSON with {Env.SIGNING_KEY})")
        return keys

    def apply(self, client: Inngest) -> None:
        """Put the current keys into the client's configuration (a no-op while they are unchanged)."""
        keys = self.fetch()
        config = client.config
        try:
            new = config.replace(
                signing_key=keys.get("signing_key", config.signing_key),
                signing_key_fallback=keys.get("signing_key_fallback", config.signing_key_fallback),
                event_key=keys.get("event_key", config.event_key),
            )
        except ValueError as exc:  # a key the configuration refuses (too short, whitespace)
            raise KeySourceError(f"the keys read from AWS cannot be used: {exc}") from None
        if new != config:
            client.config = new


def aws_keys(secret: str | None = None, parameter: str | None = None,
             max_age: int = DEFAULT_MAX_AGE) -> AwsKeys:
    """Keys for ``Inngest(app_id=..., **aws_keys())``, from the named secret/parameter or the environment.

    Returns ``{}`` when no location is configured, so the same code runs locally in dev mode.
    """
    source = AwsKeySource.resolve(secret, parameter, max_age)
    return source.fetch() if source else AwsKeys()
