//! Every address's [`Signature`] agrees with the parser: messages built from
//! it, at each range's ends, with and without the optional arguments, are
//! accepted without a clamp, and a float just outside its range is clamped.

use rosc::{OscMessage, OscMidiMessage, OscType};

use super::{parse_message, Address, ArgKind, ExciteShape, ModShape, ParamPairs, VoiceParam};

/// The value of `kind` at its low (`high == false`) or high end.
fn value(kind: &ArgKind, high: bool) -> OscType {
    match kind {
        ArgKind::Int { min, max } => OscType::Int(if high { *max } else { *min } as i32),
        ArgKind::Float(r) => OscType::Float(if high { *r.end() } else { *r.start() }),
        ArgKind::Inst => OscType::String("small".into()),
        ArgKind::FileName => OscType::String("small.json".into()),
        ArgKind::Shape => {
            let all = ExciteShape::ALL;
            OscType::String(all[if high { all.len() - 1 } else { 0 }].name().into())
        }
        ArgKind::ModParam => {
            let all: Vec<VoiceParam> = VoiceParam::ALL
                .into_iter()
                .filter(|p| p.acts_on_running_voice())
                .collect();
            OscType::String(all[if high { all.len() - 1 } else { 0 }].name().into())
        }
        ArgKind::ModShape => {
            let all = ModShape::ALL;
            OscType::String(all[if high { all.len() - 1 } else { 0 }].name().into())
        }
        // In range for every parameter.
        ArgKind::ModDepth => OscType::Float(if high { 0.01 } else { -0.01 }),
        ArgKind::PresetName => OscType::String(if high { "warm-pad_2.x" } else { "a" }.into()),
        ArgKind::RecallTarget => {
            if high {
                OscType::String("small".into())
            } else {
                OscType::Int(1)
            }
        }
        ArgKind::Midi => OscType::Midi(OscMidiMessage {
            port: 0,
            status: 0x90,
            data1: 60,
            data2: 100,
        }),
    }
}

/// The message to `address` with `args`.
fn message(address: Address, args: Vec<OscType>) -> OscMessage {
    OscMessage {
        addr: address.name().into(),
        args,
    }
}

#[test]
fn signatures_describe_what_the_parser_accepts() {
    for &address in Address::ALL {
        let sig = address.signature();
        assert!(!sig.description.is_empty(), "{}", address.name());
        for high in [false, true] {
            let required: Vec<OscType> = sig
                .args
                .iter()
                .filter(|a| !a.optional)
                .map(|a| value(&a.kind, high))
                .collect();
            let mut full: Vec<OscType> = sig.args.iter().map(|a| value(&a.kind, high)).collect();
            let p = VoiceParam::ALL[0];
            let pair = [
                OscType::String(p.name().into()),
                OscType::Float(*p.range().end()),
            ];
            if sig.params != ParamPairs::No {
                full.extend(pair.clone());
            }
            let mut cases = vec![full];
            match sig.params {
                ParamPairs::AtLeastOne => cases.push([required, pair.to_vec()].concat()),
                _ => cases.push(required),
            }
            for args in cases {
                let parsed = parse_message(&message(address, args.clone()))
                    .unwrap_or_else(|f| panic!("{} {args:?}: {}", address.name(), f.reason));
                assert_eq!(parsed.clamped, 0, "{} {args:?}", address.name());
            }
        }
        assert_eq!(sig.type_tags().len(), {
            let pairs = usize::from(sig.params == ParamPairs::AtLeastOne) * 2;
            sig.args.len() + pairs
        });
        for (i, arg) in sig.args.iter().enumerate() {
            let ArgKind::Float(r) = &arg.kind else {
                continue;
            };
            // The required arguments, and the optional ones up to this one.
            let mut args: Vec<OscType> = sig
                .args
                .iter()
                .enumerate()
                .filter(|(j, a)| !a.optional || *j <= i)
                .map(|(_, a)| value(&a.kind, false))
                .collect();
            args[i] = OscType::Float(*r.end() + 1.0);
            if sig.params == ParamPairs::AtLeastOne {
                args.extend([OscType::String("gain".into()), OscType::Float(1.0)]);
            }
            let parsed = parse_message(&message(address, args)).unwrap();
            assert_eq!(parsed.clamped, 1, "{} {}", address.name(), arg.name);
        }
    }
}
