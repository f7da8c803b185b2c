# imncohort: run the audit on a read-only PACS export.
#   docker build -t imncohort .
#   docker run --rm -v /path/to/export:/export:ro -v imncohort-out:/out imncohort run /export --out /out
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PREFECT_SERVER_ANALYTICS_ENABLED=false \
    IMNCOHORT_PREFECT_HOME=/home/imncohort/.imncohort/prefect

RUN useradd --create-home --uid 1000 imncohort
WORKDIR /app
COPY pyproject.toml README.md ./
COPY imncohort ./imncohort
COPY flows ./flows
COPY config ./config
RUN pip install .

USER imncohort
VOLUME ["/out"]
ENTRYPOINT ["imncohort"]
CMD ["--help"]
