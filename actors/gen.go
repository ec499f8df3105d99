package actors

// The messages between nodes (clusterpb) are generated from their .proto with
// Debian's protoc (apt-get install protobuf-compiler) and protoc-gen-go
// v1.32.0 (go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.32.0).
//go:generate protoc --go_out=. --go_opt=paths=source_relative clusterpb/readtag.proto
