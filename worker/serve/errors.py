"""Errors the inference API turns into HTTP answers: each has a status, a stable code and a message that
says what to do."""

from worker.errors import OpenLedgerError


class ServeError(OpenLedgerError):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.code = code or type(self).code
        self.status = status or type(self).status


class ModelUnavailable(ServeError):
    """Unknown model, not live, or not served by this worker."""

    status = 404
    code = "model_not_found"


class DependencyUnavailable(ServeError):
    """The chain's RPC endpoint (or another dependency) cannot be reached: retry later."""

    status = 503
    code = "backend_unavailable"


class InvalidRequest(ServeError):
    status = 422
    code = "invalid_request"


class RequestTooLarge(ServeError):
    status = 413
    code = "request_too_large"


class RequestTimeout(ServeError):
    """The body did not arrive in time (a slow or stalled client holds a connection for nothing)."""

    status = 408
    code = "request_timeout"
