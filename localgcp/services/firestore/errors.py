"""Failures carried as gRPC status codes, the way the real service reports them."""

from __future__ import annotations

import grpc


class FirestoreError(Exception):
    """A request failed with ``code``; the provider turns it into the gRPC status the client expects."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def invalid(message: str) -> FirestoreError:
    return FirestoreError(grpc.StatusCode.INVALID_ARGUMENT, message)


def not_found(message: str) -> FirestoreError:
    return FirestoreError(grpc.StatusCode.NOT_FOUND, message)


def already_exists(message: str) -> FirestoreError:
    return FirestoreError(grpc.StatusCode.ALREADY_EXISTS, message)


def failed_precondition(message: str) -> FirestoreError:
    return FirestoreError(grpc.StatusCode.FAILED_PRECONDITION, message)


def aborted(message: str) -> FirestoreError:
    return FirestoreError(grpc.StatusCode.ABORTED, message)


def unimplemented(message: str) -> FirestoreError:
    return FirestoreError(grpc.StatusCode.UNIMPLEMENTED, message)
