# Multi-stage build: the same steps the tests exercise (npm install, npm run build), then the
# compiled binary alone on a minimal non-root image.
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm install --no-audit --no-fund
COPY . .
RUN npm run build && mkdir -p -m 700 /data

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/dist/codepushgo /usr/local/bin/codepushgo
# The data directory belongs to the non-root user (uid 65532 in distroless), mode 0700.
COPY --from=build --chown=65532:65532 /data /data
ENV CODEPUSHGO_HTTP=0.0.0.0:8090 \
    CODEPUSHGO_DIR=/data
VOLUME ["/data"]
EXPOSE 8090
USER nonroot
HEALTHCHECK --interval=30s --timeout=5s --start-period=5s --retries=3 \
  CMD ["/usr/local/bin/codepushgo", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/codepushgo"]
CMD ["serve"]
