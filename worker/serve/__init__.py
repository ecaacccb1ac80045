"""Paid inference: the HTTP API (FastAPI), live models loaded and verified from the chain and the content
store, the payer's request authorization and the payment gate, per-answer attribution, signed receipts.

    app            FastAPI routes (create_app), streams  service      parse, pay, answer, sign, store
    openai_format  OpenAI bodies, answers, stream chunks chat         a chat -> the prompt completed
    decoding       generated tokens -> streamed text
    catalog        which models this worker serves       loading      adapter bundle + index + report
    adapters       many adapters on one copy of a base (LRU in catalog)
    served_model   answers + per-answer attribution       explain      scores -> weights and evidence
    authorization  the payer's EIP-712 request signature  payments     the 402 payment gate
    server         uvicorn (thread or foreground)         client       the user's side (pay, call, verify)
"""

from worker.serve.app import create_app
from worker.serve.client import AnswerStream, InferenceClient, InferenceFailed, PaidAnswer, server_url
from worker.serve.errors import InvalidRequest, ModelUnavailable, RequestTooLarge, ServeError
from worker.serve.served_model import AnswerSettings
from worker.serve.server import ServerThread, serve_forever
from worker.serve.service import InferenceService, ServeConfig

__all__ = [
    "AnswerSettings",
    "AnswerStream",
    "InferenceClient",
    "InferenceFailed",
    "InferenceService",
    "InvalidRequest",
    "ModelUnavailable",
    "PaidAnswer",
    "RequestTooLarge",
    "ServeConfig",
    "ServeError",
    "ServerThread",
    "create_app",
    "serve_forever",
    "server_url",
]
