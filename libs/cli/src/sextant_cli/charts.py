"""An analysis's charts as files: SVG and PNG rendered here, offline, and the spec.

vl-convert renders Vega-Lite with the Vega and Vega-Lite it bundles: no browser, no
network (the specs carry their data inline).
"""

import json
from pathlib import Path
from typing import Any

import vl_convert


def write_charts(analysis: dict[str, Any], directory: Path) -> list[Path]:
    """``<chart_id>.svg``, ``.png`` and ``.vl.json`` per chart; the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for chart in analysis.get("charts") or []:
        stem = directory / str(chart["chart_id"])
        spec = chart["spec"]
        files = {
            stem.with_suffix(".vl.json"): json.dumps(spec, indent=2).encode(),
            stem.with_suffix(".svg"): vl_convert.vegalite_to_svg(spec).encode(),
            stem.with_suffix(".png"): vl_convert.vegalite_to_png(spec, scale=2),
        }
        for path, content in files.items():
            path.write_bytes(content)
            written.append(path)
    return written
