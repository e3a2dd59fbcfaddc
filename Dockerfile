# One image for web, worker and beat.
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY webmail ./webmail
COPY accounts ./accounts
COPY templates ./templates
COPY static ./static
COPY manage.py ./
RUN pip install . && useradd --system --home /app webmail \
    && mkdir -p /var/lib/celery && chown webmail /var/lib/celery \
    && DEBUG=1 STATIC_ROOT=/app/staticfiles python manage.py collectstatic --noinput -v 0
ENV STATIC_ROOT=/app/staticfiles
USER webmail
EXPOSE 8000 8001
# One process per web instance, its threads sharing one IMAP pool (README, "Scaling"): add
# instances behind the balancer (deploy/haproxy.cfg), not processes inside one.
# The push service (docker-compose.yml, "push") runs this image under uvicorn on 8001 instead.
CMD ["gunicorn", "webmail.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "1", "--threads", "16", \
     "--graceful-timeout", "20"]
