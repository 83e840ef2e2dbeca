# The live bot with the HTTP gateway transport and PostgreSQL (compose.yaml runs both).
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY parsers ./parsers
COPY storage ./storage
RUN pip install --no-cache-dir ".[http,postgres]" \
    && useradd --system --create-home --home-dir /var/lib/jielong jielong
USER jielong
WORKDIR /var/lib/jielong
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]
ENTRYPOINT ["jielong"]
CMD ["run", "--transport", "http", "--listen", "0.0.0.0:8080"]
