package tpch

import (
	"math/big"
	"strconv"
	"strings"
	"time"
)

// Kind is the class of a canonical value.
type Kind uint8

// The canonical kinds; see the package documentation.
const (
	KindNull      Kind = iota
	KindBool           // Bool
	KindInt            // Int: integers and decimals of scale 0, exact
	KindFloat          // Float: floats and decimals of scale > 0
	KindString         // Str
	KindDate           // Str, "2006-01-02"
	KindTime           // Str, "15:04:05.999999999"
	KindTimestamp      // Str, "2006-01-02 15:04:05.999999999", UTC
)

// Canonical layouts of the temporal kinds.
const (
	dateLayout      = "2006-01-02"
	timeLayout      = "15:04:05.999999999"
	timestampLayout = "2006-01-02 15:04:05.999999999"
)

// Value is one canonical value; which field is set depends on Kind.
type Value struct {
	Kind  Kind
	Bool  bool
	Int   *big.Int
	Float float64
	Str   string
}

// Result is a canonical query result.
type Result struct {
	Columns []string
	Rows    [][]Value
}

// String renders v for messages: NULL, numbers and booleans bare, strings
// quoted, temporal values as DATE '...', TIME '...', TIMESTAMP '...'.
func (v Value) String() string {
	switch v.Kind {
	case KindNull:
		return "NULL"
	case KindBool:
		return strconv.FormatBool(v.Bool)
	case KindInt:
		return v.Int.String()
	case KindFloat:
		return strconv.FormatFloat(v.Float, 'g', -1, 64)
	case KindString:
		return strconv.Quote(v.Str)
	case KindDate:
		return "DATE '" + v.Str + "'"
	case KindTime:
		return "TIME '" + v.Str + "'"
	default:
		return "TIMESTAMP '" + v.Str + "'"
	}
}

// rowString renders a row for messages.
func rowString(row []Value) string {
	parts := make([]string, len(row))
	for i, v := range row {
		parts[i] = v.String()
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func nullValue() Value            { return Value{Kind: KindNull} }
func boolValue(b bool) Value      { return Value{Kind: KindBool, Bool: b} }
func int64Value(i int64) Value    { return Value{Kind: KindInt, Int: big.NewInt(i)} }
func uint64Value(u uint64) Value  { return Value{Kind: KindInt, Int: new(big.Int).SetUint64(u)} }
func bigValue(i *big.Int) Value   { return Value{Kind: KindInt, Int: new(big.Int).Set(i)} }
func floatValue(f float64) Value  { return Value{Kind: KindFloat, Float: f} }
func stringValue(s string) Value  { return Value{Kind: KindString, Str: s} }
func dateValue(t time.Time) Value { return Value{Kind: KindDate, Str: t.Format(dateLayout)} }
func timeValue(t time.Time) Value { return Value{Kind: KindTime, Str: t.Format(timeLayout)} }

func timestampValue(t time.Time) Value {
	return Value{Kind: KindTimestamp, Str: t.UTC().Format(timestampLayout)}
}

// decimalValue canonicalizes unscaled * 10^-scale: an exact integer when the
// scale is <= 0, otherwise the float64 nearest to the exact rational value.
func decimalValue(unscaled *big.Int, scale int32) Value {
	if scale <= 0 {
		p := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(-scale)), nil)
		return Value{Kind: KindInt, Int: p.Mul(p, unscaled)}
	}
	den := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)
	f, _ := new(big.Rat).SetFrac(unscaled, den).Float64()
	return floatValue(f)
}
