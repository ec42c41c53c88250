# The loyalty platform's image: web (gunicorn), worker and beat all run from it (compose.yaml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 1000 loyalty
WORKDIR /app
COPY . .

# Installed in place (-e), not copied into site-packages: the settings find templates/, static/
# and locale/ (the compiled French catalog is committed: no gettext needed) beside the packages.
# Static files are collected with their hashed names and compressed copies, once, into the image.
RUN pip install -e . \
    && DEBUG=False SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput \
    && mkdir -p var/media && chown -R loyalty:loyalty /app/var

USER loyalty
ENV DEBUG=False
EXPOSE 8000
CMD ["gunicorn", "-c", "gunicorn.conf.py", "loyalty.wsgi"]
