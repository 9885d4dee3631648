# One image for every Homeloop process: api, gateway, worker, beat and the migrate job.
FROM python:3.11-slim

# uid 1883 is the eclipse-mosquitto image's user: the broker container must be able to read
# the password and ACL files that provisioning writes into the shared volume.
RUN useradd --uid 1883 --create-home --shell /usr/sbin/nologin homeloop
WORKDIR /app
# AR assets: gltfpack for levels of detail, Node for the Khronos glTF-Validator.
RUN apt-get update && apt-get install -y --no-install-recommends gltfpack nodejs npm \
    && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
ENV NODE_PATH=/app/node_modules
# The room designer's web client, built from its lockfile; only the build stays in the image.
COPY web/kiosk/package.json web/kiosk/package-lock.json web/kiosk/build.mjs ./web/kiosk/
COPY web/kiosk/src ./web/kiosk/src
# the server's wording the home app's font subset is made for (web/kiosk/build.mjs)
COPY catalog/seed.py ./catalog/
COPY replenishment/reasons.py replenishment/offer_reasons.py replenishment/texts.py ./replenishment/
COPY homeloop/errors.py ./homeloop/
COPY orders/lifecycle.py ./orders/
RUN cd web/kiosk && npm ci --no-audit --no-fund && npm run build \
    && rm -rf node_modules && npm cache clean --force
ENV HOMELOOP_WEB_DIR=/app/web/kiosk/dist
COPY pyproject.toml README.md ./
# The production packages only: devtools/ (benchmarks, demo, fleet simulator, Auth emulator
# stand-in) is not deployed, and `homeloop` works without it (tests/test_devtools_apart.py).
COPY homeloop ./homeloop
COPY catalog ./catalog
COPY customers ./customers
COPY device_gateway ./device_gateway
COPY replenishment ./replenishment
COPY notifications ./notifications
COPY identity ./identity
COPY api ./api
COPY ar_assets ./ar_assets
COPY floorplans ./floorplans
COPY clienteling ./clienteling
COPY orders ./orders
RUN pip install --no-cache-dir . && mkdir -p /mosquitto/auth /assets \
    && chown homeloop /mosquitto/auth /assets

USER homeloop
ENV PYTHONUNBUFFERED=1 HOMELOOP_STATE_DIR=/tmp/homeloop
EXPOSE 8080 9100 9101
CMD ["homeloop", "api", "--host", "0.0.0.0"]
