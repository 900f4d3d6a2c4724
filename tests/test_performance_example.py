"""The worked example of "Performance: size and runtime" (course/samples/performance/): what the page says about the
two images' sizes. The exact figures it quotes depend on the base image and on the day Debian's packages were
fetched, so this holds the relations it teaches: the slim image adds a few MB to its base, the bloated one hundreds,
and the bloated image's late `rm -rf /var/lib/apt/lists/*` saves nothing. That both answer the project's calls the
same is held by test_samples.py (http.calls in the folder's samples.toml)."""

from __future__ import annotations

import contextlib

import pytest

from graders.build import build_image
from graders.spec import REPO_ROOT

FOLDER = REPO_ROOT / "course" / "samples" / "performance"
MB = 1_000_000  # docker image ls counts in units of 1000


@pytest.mark.engine
@pytest.mark.slow
def test_the_slim_image_adds_megabytes_and_the_bloated_one_hundreds() -> None:
    from graders.engine import client

    tags = {"slim": "mastery-sample/performance:size-slim", "bloated": "mastery-sample/performance:size-bloated"}
    files = {"slim": "Dockerfile", "bloated": "wrong-bloated.Dockerfile"}
    try:
        for name, tag in tags.items():
            build_image(FOLDER, FOLDER / files[name], tag, {"io.mastery.sample": "1"}, timeout_s=600)
        base = client().images.get("python:3.13-slim").attrs["Size"]
        images = {name: client().images.get(tag) for name, tag in tags.items()}
        added = {name: image.attrs["Size"] - base for name, image in images.items()}
        assert 0 < added["slim"] < 10 * MB, added
        assert added["bloated"] > 300 * MB, added

        # The commands of the Dockerfile's own RUN steps, as BuildKit ("RUN /bin/sh -c ... # buildkit") or the legacy
        # builder ("/bin/sh -c ...") records them; the base image's steps run longer commands.
        layers = {step["CreatedBy"].removeprefix("RUN ").removeprefix("/bin/sh -c ").removesuffix(" # buildkit"):
                  step["Size"] for step in images["bloated"].history()}
        assert layers["apt-get update"] > 10 * MB, layers  # the package lists, stored in their own layer
        assert layers["rm -rf /var/lib/apt/lists/*"] == 0, layers  # hides them, gives nothing back
    finally:
        for tag in tags.values():
            with contextlib.suppress(Exception):
                client().images.remove(tag, noprune=True)
