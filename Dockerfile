# One image for every Outrigger command: `docker run outrigger hub`, `... sidecar`,
# `... injector`. Build it with `docker build -t outrigger:0.1.0 .`
#
# Alpine: every dependency is JavaScript or WebAssembly (undici, xxhash-wasm, grpc-js,
# protobufjs), nothing is compiled for the C library, so the smaller base works.

ARG NODE_IMAGE=node:20-alpine

# Build: all dependencies (the compiler is a dev dependency), then tsc.
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: the package's own "prepare" script would build before the sources are here.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY proto ./proto
COPY src ./src
RUN npx tsc -p . --sourceMap false && node src/cli/write-envoy-descriptor.mjs

# Production dependencies only.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Type declarations and source maps are not needed to run (they are over a third of the size).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force \
 && find node_modules -type f \( -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.map' \) -delete

# Runtime: node, the production dependencies, the compiled code, the .proto files and the dashboards.
FROM ${NODE_IMAGE}
# npm and yarn are not needed to run, so they are left out of the final image.
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/bin/npm /usr/local/bin/npx \
      /usr/local/lib/node_modules/corepack /usr/local/bin/corepack \
      /opt/yarn-* /usr/local/bin/yarn /usr/local/bin/yarnpkg \
 && addgroup -g 1337 -S outrigger \
 && adduser -u 1337 -G outrigger -S -D -H -h /app -s /sbin/nologin outrigger
ENV NODE_ENV=production
WORKDIR /app
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY proto ./proto
COPY --from=build /src/dist/src ./dist/src
# The dashboards' browser files (plain ES modules, served as they are).
COPY src/ui ./src/ui
# `outrigger` on the PATH too: the injected sidecar's postStart hook runs
# `outrigger sidecar wait-ready` when it is not a native sidecar.
RUN chmod 0755 /app/dist/src/cli/main.js && ln -s /app/dist/src/cli/main.js /usr/local/bin/outrigger \
 && mkdir -p /var/lib/outrigger && chown 1337:1337 /var/lib/outrigger && chmod 0700 /var/lib/outrigger
# The hub's tokens file and bootstrap admin token (mount a volume here to keep them).
ENV OUTRIGGER_DATA_DIR=/var/lib/outrigger
USER 1337:1337
# Sidecar admin and outbound proxy, hub gRPC, DNS (UDP and TCP) and HTTP, injector webhook.
EXPOSE 15000 15001 15010 15053/tcp 15053/udp 15080 9443
ENTRYPOINT ["node", "/app/dist/src/cli/main.js"]
CMD ["--help"]
