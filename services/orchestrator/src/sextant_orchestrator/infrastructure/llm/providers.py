"""Choose the chat model from settings: local (default), OpenAI, Anthropic, or any
OpenAI-compatible server (vLLM, Ollama, llama.cpp server).

Provider SDK retries are switched off (``max_retries=0``): every call is retried by the
one tenacity policy (:mod:`.policy`), which honours ``Retry-After`` and the per-analysis
budget; two layers of retries would multiply attempts and hide failures.
"""

from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from pydantic import SecretStr

from sextant_orchestrator.infrastructure.llm.local_llama import (
    LOCAL_MODEL_NAME,
    LocalLlamaChat,
    packaged_model_path,
)
from sextant_orchestrator.infrastructure.llm.policy import LlmCallPolicy
from sextant_orchestrator.infrastructure.llm.settings import LlmSettings

LOCAL_MAX_TOKENS = 256
"""A 135M model says what it can in a paragraph; longer output only repeats itself."""

DEFAULT_MODELS: dict[str, str] = {
    "local": LOCAL_MODEL_NAME,
    "openai": "gpt-4o-mini",
    "anthropic": "claude-3-5-haiku-latest",
    "openai-compatible": "default",
}


@dataclass(frozen=True, slots=True)
class ChatModelChoice:
    """The model, its name for results, and whether it can choose tools itself."""

    model: BaseChatModel
    name: str
    calls_tools: bool


def build_chat_model(config: LlmSettings) -> ChatModelChoice:
    """Build (and for the local model, load: blocking) the configured chat model."""
    name = config.MODEL or DEFAULT_MODELS[config.PROVIDER]
    if config.PROVIDER == "local":
        local = LocalLlamaChat(
            model_path=config.LOCAL_MODEL_PATH or str(packaged_model_path()),
            threads=config.LOCAL_THREADS,
            context_tokens=config.LOCAL_CONTEXT_TOKENS,
            max_tokens=min(config.MAX_OUTPUT_TOKENS, LOCAL_MAX_TOKENS),
            temperature=config.TEMPERATURE,
        ).load()
        return ChatModelChoice(model=local, name=name, calls_tools=False)
    if config.PROVIDER == "anthropic":
        from langchain_anthropic import ChatAnthropic

        anthropic_options: dict[str, Any] = {"api_key": config.API_KEY} if config.API_KEY else {}
        if config.BASE_URL:
            anthropic_options["base_url"] = config.BASE_URL
        anthropic = ChatAnthropic(
            model_name=name,
            timeout=config.TIMEOUT_S,
            max_retries=0,
            temperature=config.TEMPERATURE,
            max_tokens_to_sample=config.MAX_OUTPUT_TOKENS,
            **anthropic_options,
        )
        return ChatModelChoice(model=anthropic, name=name, calls_tools=True)
    from langchain_openai import ChatOpenAI

    if config.PROVIDER == "openai-compatible" and not config.BASE_URL:
        raise ValueError("LLM_PROVIDER=openai-compatible needs LLM_BASE_URL")
    openai_options: dict[str, Any] = {"api_key": config.API_KEY} if config.API_KEY else {}
    if config.PROVIDER == "openai-compatible" and not config.API_KEY:
        openai_options["api_key"] = SecretStr("not-needed")  # local servers ignore it
    openai = ChatOpenAI(
        model=name,
        base_url=config.BASE_URL,
        timeout=config.TIMEOUT_S,
        max_retries=0,
        temperature=config.TEMPERATURE,
        max_completion_tokens=config.MAX_OUTPUT_TOKENS,
        **openai_options,
    )
    return ChatModelChoice(model=openai, name=name, calls_tools=True)


def build_call_policy(config: LlmSettings) -> LlmCallPolicy:
    """The tenacity policy every LLM call of an analysis goes through."""
    return LlmCallPolicy(
        max_attempts=config.MAX_ATTEMPTS,
        backoff_s=config.BACKOFF_S,
        backoff_max_s=config.BACKOFF_MAX_S,
        calls_per_analysis=config.CALLS_PER_ANALYSIS,
    )
