"""TCP output: one JSON line per inspection to a listening PLC bridge.

The connection is opened on first use and kept; when it breaks the message is
retried on a new connection, so a bridge that restarts loses nothing.
"""

from __future__ import annotations

import socket
from typing import Literal

from pydantic import Field

from ..types import Context
from ._output import OutputModule, OutputOptions
from .registry import module_type

__all__ = ["TcpOutput", "TcpOutputOptions"]


class TcpOutputOptions(OutputOptions):
    type: Literal["tcp@1"]
    host: str = Field(min_length=1, description="Host of the listener.")
    port: int = Field(ge=1, le=65535, description="Port of the listener.")
    timeout: float = Field(5.0, gt=0, le=120, description="Seconds to connect or send.")
    fields: list[str] = Field(
        default_factory=list, description="Send only these context keys (all when empty)."
    )


@module_type
class TcpOutput(OutputModule):
    options_model = TcpOutputOptions
    options: TcpOutputOptions
    _socket: socket.socket | None = None

    def payload(self, context: Context) -> bytes:
        if self.options.fields:
            context = {key: context.get(key) for key in self.options.fields}
        return super().payload(context) + b"\n"

    def deliver(self, payload: bytes) -> None:
        if self._socket is None:
            address = (self.options.host, self.options.port)
            self._socket = socket.create_connection(address, timeout=self.options.timeout)
        try:
            self._socket.sendall(payload)
        except OSError:
            self._socket.close()
            self._socket = None
            raise

    def close(self) -> None:
        super().close()
        if self._socket is not None:
            self._socket.close()
