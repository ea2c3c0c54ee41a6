# syntax=docker/dockerfile:1

# Build: a static binary, no cgo.
FROM golang:1.26 AS build
WORKDIR /src
# Modules first, so this layer is reused until go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/nurture ./cmd/nurture
# An empty directory for the volume that holds the generated secret
# (docker-compose.yml): a new volume takes the owner of the directory it is
# mounted on, so the non-root user can write there.
RUN mkdir -p /out/state

# Run: no shell, no package manager, a non-root user.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/nurture /nurture
COPY --from=build --chown=65532:65532 /out/state /var/lib/nurture
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/nurture"]
