"""Coze-compatible emulator: scripted workflows, chat flows, auth and fault injection.

See docs/emulator.md. Entry points: :func:`create_emulator_app`, :class:`EmulatorConfig`,
:class:`EmulatorServer` (a real port in a background thread), :class:`EmulatorTransport`
(in-process httpx transport that streams, for the gateway's sandbox channel).
"""

from cozegate.emulator import catalog
from cozegate.emulator.app import create_emulator_app
from cozegate.emulator.config import EmulatorConfig, FaultRule, OAuthAppConfig
from cozegate.emulator.faults import EmulatorConnectionDropped, EmulatorStreamBroken
from cozegate.emulator.runner import EmulatorServer
from cozegate.emulator.sandbox import (
    SANDBOX_OAUTH_APP_ID,
    SANDBOX_OAUTH_KEY_ID,
    SANDBOX_TOKEN,
    sandbox_private_key,
    sandbox_public_key,
)
from cozegate.emulator.transport import EmulatorTransport

__all__ = [
    "SANDBOX_OAUTH_APP_ID",
    "SANDBOX_OAUTH_KEY_ID",
    "SANDBOX_TOKEN",
    "EmulatorConfig",
    "EmulatorConnectionDropped",
    "EmulatorServer",
    "EmulatorStreamBroken",
    "EmulatorTransport",
    "FaultRule",
    "OAuthAppConfig",
    "catalog",
    "create_emulator_app",
    "sandbox_private_key",
    "sandbox_public_key",
]
