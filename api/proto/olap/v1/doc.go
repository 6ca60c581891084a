// Package olapv1 is the generated Go code of the seed's OlapService
// (olap.proto in this folder): messages, client and server stubs. Do not
// edit olap.pb.go or olap_grpc.pb.go; change olap.proto and run
// `make proto`, which installs protoc (Debian protobuf-compiler) and the
// pinned protoc-gen-go and protoc-gen-go-grpc, then commits nothing by
// itself: the regenerated files are checked in.
package olapv1
