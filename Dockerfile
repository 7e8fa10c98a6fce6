FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
# postgresql-client: pg_dump / pg_restore for `manage.py backup` and `restore`; it must match
# the server's major version (Debian bookworm: 15, as in docker-compose.yml).
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm postgresql-client \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.lock package.json package-lock.json ./
RUN pip install --no-cache-dir --require-hashes -r requirements.lock && npm ci --omit=dev --no-audit --no-fund
COPY . .
RUN python scripts/compile_messages.py \
 && SECRET_KEY=build TRUPEO_MAIL_TO_MEMORY=True TRUPEO_MASTER_KEYS=build:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= TRUPEO_DATA_DIR=/tmp/build \
    python manage.py collectstatic --noinput
RUN useradd --system --uid 1000 trupeo && mkdir -p /app/var && chown trupeo /app/var
USER trupeo
EXPOSE 8000
