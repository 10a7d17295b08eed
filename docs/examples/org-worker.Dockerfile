# The worker (and scheduler) image for keysentry org: Python, git and keysentry[org].
# Build it from a keysentry checkout: docker build -f docs/examples/org-worker.Dockerfile .
FROM python:3.12-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends git \
    && rm -rf /var/lib/apt/lists/*
COPY . /src/keysentry
RUN pip install --no-cache-dir '/src/keysentry[org]'
# clones of URL repositories go to the worker's scratch space
ENV TMPDIR=/scratch
RUN mkdir /scratch
