package api

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// marshalJSON writes a response message as the REST API's JSON: proto
// field names, every field present (zero values included, unset messages
// as null, empty lists and maps as [] and {}), Timestamps as RFC 3339
// strings, and 64-bit integers as JSON numbers, not the strings protojson
// writes, so that counts compare as numbers in jq and JavaScript.
func marshalJSON(m proto.Message) []byte {
	return appendMessage(nil, m.ProtoReflect())
}

func appendMessage(b []byte, m protoreflect.Message) []byte {
	switch m.Descriptor().FullName() {
	case "google.protobuf.Timestamp":
		f := m.Descriptor().Fields()
		t := time.Unix(m.Get(f.ByName("seconds")).Int(), m.Get(f.ByName("nanos")).Int()).UTC()
		return strconv.AppendQuote(b, t.Format(time.RFC3339Nano))
	case "google.protobuf.Struct", "google.protobuf.Value", "google.protobuf.ListValue":
		j, _ := protojson.Marshal(m.Interface())
		return append(b, j...)
	}
	b = append(b, '{')
	fields := m.Descriptor().Fields()
	first := true
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if fd.ContainingOneof() != nil && !m.Has(fd) {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = strconv.AppendQuote(b, string(fd.Name()))
		b = append(b, ':')
		b = appendField(b, m, fd)
	}
	return append(b, '}')
}

func appendField(b []byte, m protoreflect.Message, fd protoreflect.FieldDescriptor) []byte {
	v := m.Get(fd)
	switch {
	case fd.IsList():
		b = append(b, '[')
		l := v.List()
		for i := 0; i < l.Len(); i++ {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendPBValue(b, fd, l.Get(i))
		}
		return append(b, ']')
	case fd.IsMap():
		mp := v.Map()
		keys := make([]string, 0, mp.Len())
		vals := map[string]protoreflect.Value{}
		mp.Range(func(k protoreflect.MapKey, v protoreflect.Value) bool {
			keys = append(keys, k.String())
			vals[k.String()] = v
			return true
		})
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			key, _ := json.Marshal(k)
			b = append(append(b, key...), ':')
			b = appendPBValue(b, fd.MapValue(), vals[k])
		}
		return append(b, '}')
	case fd.Message() != nil && !m.Has(fd):
		return append(b, "null"...)
	}
	return appendPBValue(b, fd, v)
}

func appendPBValue(b []byte, fd protoreflect.FieldDescriptor, v protoreflect.Value) []byte {
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return appendMessage(b, v.Message())
	case protoreflect.BoolKind:
		return strconv.AppendBool(b, v.Bool())
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return strconv.AppendInt(b, v.Int(), 10)
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return strconv.AppendUint(b, v.Uint(), 10)
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		f := v.Float()
		switch {
		case math.IsNaN(f):
			return append(b, `"NaN"`...)
		case math.IsInf(f, 1):
			return append(b, `"Infinity"`...)
		case math.IsInf(f, -1):
			return append(b, `"-Infinity"`...)
		}
		return strconv.AppendFloat(b, f, 'g', -1, 64)
	case protoreflect.StringKind:
		s, _ := json.Marshal(v.String())
		return append(b, s...)
	case protoreflect.BytesKind:
		return strconv.AppendQuote(b, base64.StdEncoding.EncodeToString(v.Bytes()))
	case protoreflect.EnumKind:
		if ev := fd.Enum().Values().ByNumber(v.Enum()); ev != nil {
			return strconv.AppendQuote(b, string(ev.Name()))
		}
		return strconv.AppendInt(b, int64(v.Enum()), 10)
	}
	return append(b, "null"...)
}
