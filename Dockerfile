# syntax=docker/dockerfile:1
#
# local-llm-gateway: docker build -t local-llm-gateway:0.1.0 .
# Ollama is not in this image: it runs in its own container (see compose.yaml, config/kubernetes/),
# so point OLLAMA_URL at it; the gateway then uses it as an `external` Ollama and never starts one.

ARG NODE_IMAGE=node:22-bookworm-slim

# --- build: every dependency, then the TypeScript compile ------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts: the compile needs none, and they would only fetch telemetry or native helpers.
RUN --mount=type=cache,target=/root/.npm \
    npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# --- production dependencies only, installed apart so the build tools never reach the runtime -------
FROM ${NODE_IMAGE} AS production-dependencies
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# --- runtime -------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
# glibc's allocator: two arenas, and memory freed at the top of the heap given back beyond 64 KiB. An idle
# service then holds 80 MiB after a load instead of 91, at no measurable CPU cost (docs/benchmarks.md).
ENV MALLOC_ARENA_MAX=2 MALLOC_TRIM_THRESHOLD_=65536
WORKDIR /app
# Owned by root and read-only to the `node` user: the service writes nothing but its pid file (in /tmp).
COPY package.json ./
COPY --from=production-dependencies /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER node
EXPOSE 3000
# The service drains on SIGTERM and exits 0; give it SHUTDOWN_DRAIN_DELAY + SHUTDOWN_GRACE_PERIOD + slack
# (docker stop --time / compose stop_grace_period / Kubernetes terminationGracePeriodSeconds).
STOPSIGNAL SIGTERM
# Liveness only: readiness depends on Ollama and the model, which a restart of this container cannot fix.
# Node itself makes the request, so the image needs no curl.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health/live').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"]
# Exec form: node is PID 1 and receives the stop signal itself (no shell in between to swallow it).
CMD ["node", "dist/main.js"]
