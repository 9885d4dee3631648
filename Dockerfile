# One image for every Homeloop process: api, gateway, worker, beat and the migrate job.
FROM python:3.11-slim

# uid 1883 is the eclipse-mosquitto image's user: the broker container must be able to read
# the password and ACL files that provisioning writes into the shared volume.
RUN useradd --uid 1883 --create-home --shell /usr/sbin/nologin homeloop
WORKDIR /app
COPY pyproject.toml README.md ./
COPY homeloop ./homeloop
COPY catalog ./catalog
COPY customers ./customers
COPY device_gateway ./device_gateway
COPY replenishment ./replenishment
COPY notifications ./notifications
COPY api ./api
RUN pip install --no-cache-dir . && mkdir -p /mosquitto/auth && chown homeloop /mosquitto/auth

USER homeloop
ENV PYTHONUNBUFFERED=1 HOMELOOP_STATE_DIR=/tmp/homeloop
EXPOSE 8080 9100
CMD ["homeloop", "api", "--host", "0.0.0.0"]
