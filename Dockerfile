# One inspection station: `docker build -t inspekt .`, then serve a project mounted at
# /project (its models trained beforehand, or baked in by a derived image):
#   docker run -p 8000:8000 -v "$PWD/demo:/project" -e INSPEKT_API_KEY=... inspekt
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# OpenMP for onnxruntime and faiss; nothing else of the system is needed to serve.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
# Serving only: training (torch) stays on the machine that trains.
RUN pip install . \
    && useradd --create-home --uid 10001 inspekt \
    && mkdir /project && chown inspekt /project

USER inspekt
VOLUME ["/project"]
EXPOSE 8000
# Ready = the project is loaded and its history is being written.
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health/ready', timeout=2).status != 200)"]
ENTRYPOINT ["inspekt", "serve", "/project", "--host", "0.0.0.0", "--port", "8000"]
