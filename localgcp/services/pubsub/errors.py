"""Failures of the Pub/Sub emulator, each carrying the gRPC status code the real service would return."""

from __future__ import annotations

import grpc


class PubSubError(Exception):
    """An RPC failure: ``code`` is the gRPC status, ``message`` the text the client sees."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def not_found(what: str, name: str) -> PubSubError:
    return PubSubError(grpc.StatusCode.NOT_FOUND, f"Resource not found ({what}={name}).")


def already_exists(what: str, name: str) -> PubSubError:
    return PubSubError(
        grpc.StatusCode.ALREADY_EXISTS, f"Resource already exists in the project ({what}={name})."
    )


def invalid_argument(message: str) -> PubSubError:
    return PubSubError(grpc.StatusCode.INVALID_ARGUMENT, message)


def failed_precondition(message: str) -> PubSubError:
    return PubSubError(grpc.StatusCode.FAILED_PRECONDITION, message)


def unimplemented(method: str, detail: str = "") -> PubSubError:
    text = f"localgcp Pub/Sub emulator does not implement {method}"
    return PubSubError(grpc.StatusCode.UNIMPLEMENTED, f"{text}: {detail}" if detail else f"{text}.")
