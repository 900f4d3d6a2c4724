"""The course engine: a current Docker Engine (Debian forky's 28.x, with buildx and Compose) that runs as a
container on whatever engine the host has, so every learner grades and experiments on the engine the lessons
describe, behind a second wall: a submission that gets past every check reaches only this engine."""
