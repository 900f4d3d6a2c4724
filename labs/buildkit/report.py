"""Draw the training pipeline in pipeline.yaml as an SVG diagram: the job this lab packages.

It needs PyYAML (from requirements.txt, a compiled wheel that exists per CPU architecture) and
Graphviz's `dot` program (from packages.txt, a Debian package). REPORT_DIR says where the diagram
goes (default: out/ beside where the job runs).
"""

import os
import platform
import subprocess
from pathlib import Path

import yaml

steps: dict[str, list[str]] = yaml.safe_load(Path(__file__).with_name("pipeline.yaml").read_text())["steps"]
edges = [(source, step) for step, sources in steps.items() for source in sources]

graph = ["digraph pipeline {", "  rankdir=LR;", "  node [shape=box, style=rounded];"]
graph += [f'  "{step}";' for step in steps]
graph += [f'  "{source}" -> "{step}";' for source, step in edges]
graph.append("}")

svg = subprocess.run(["dot", "-Tsvg"], input="\n".join(graph), capture_output=True, text=True, check=True).stdout
out = Path(os.environ.get("REPORT_DIR", "out")) / "pipeline.svg"
out.parent.mkdir(parents=True, exist_ok=True)
out.write_text(svg)
nodes = svg.count('class="node"')  # one <g class="node"> per box that dot drew

print(f"pipeline: {len(steps)} steps, {len(edges)} edges")
print(f"wrote {out} ({len(svg.encode())} bytes, {nodes} nodes drawn)")
print(f"built for: {platform.machine()}")
