# aggregator in a container: `docker build -t aggregator .`
# `docker run --rm -v "$PWD/feeds.yaml:/app/feeds.yaml:ro" -v "$PWD/archive:/app/archive" aggregator`
FROM python:3.12-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --system --create-home --home-dir /app --uid 10001 app
WORKDIR /app

COPY pyproject.toml README.md ./
COPY aggregator ./aggregator
RUN pip install . && mkdir -p /app/archive && chown app /app/archive
COPY feeds.yaml ./

USER app
VOLUME ["/app/archive"]
ENTRYPOINT ["aggregator"]
CMD ["poll"]
