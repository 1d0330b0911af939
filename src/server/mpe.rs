//! MPE (MIDI Polyphonic Expression, MMA/AMEI MPE v1.0): zones, their
//! channels and default bend ranges, and where per-note pressure and
//! timbre (CC74) go.
//!
//! A *lower zone* has manager channel 1 (index 0) and member channels 2 up
//! to 1 + its member count; an *upper zone* has manager channel 16 (index
//! 15) and member channels 15 down to 16 − its member count. A zone with 0
//! members is off. Zones never overlap: configuring one shrinks the other
//! (lower + upper members ≤ 14; when the other would have no member left
//! it is switched off), as the spec says.

use crate::types::VoiceParam;

/// The manager channel of the lower zone (MIDI channel 1).
pub const LOWER_MANAGER: u8 = 0;
/// The manager channel of the upper zone (MIDI channel 16).
pub const UPPER_MANAGER: u8 = 15;
/// Default bend range of member channels, semitones (the spec's ±48).
pub const MEMBER_BEND_RANGE: f32 = 48.0;

/// Which zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ZoneSide {
    /// Manager channel 1, members upward from channel 2.
    Lower,
    /// Manager channel 16, members downward from channel 15.
    Upper,
}

impl ZoneSide {
    /// The zone's manager channel (0-based).
    pub fn manager(self) -> u8 {
        match self {
            ZoneSide::Lower => LOWER_MANAGER,
            ZoneSide::Upper => UPPER_MANAGER,
        }
    }
}

/// What a channel is in the MPE layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Not in any zone: an ordinary MIDI channel.
    Plain,
    /// The manager channel of a zone: its messages apply to the whole zone.
    Manager(ZoneSide),
    /// A member channel of a zone: its messages apply to its own notes.
    Member(ZoneSide),
}

/// The MPE zones: member counts of the lower and upper zone (0 = off).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Zones {
    /// Member channels of the lower zone, 0..=15.
    pub lower: u8,
    /// Member channels of the upper zone, 0..=15.
    pub upper: u8,
}

impl Zones {
    /// Applies an MPE Configuration Message (RPN 6) received on `channel`
    /// (0-based) with `members` member channels. Returns the zone it
    /// configured, or `None` when `channel` is not a manager channel
    /// (1 or 16) and the message means nothing.
    pub fn configure(&mut self, channel: u8, members: u8) -> Option<ZoneSide> {
        let members = members.min(15);
        let side = match channel {
            LOWER_MANAGER => ZoneSide::Lower,
            UPPER_MANAGER => ZoneSide::Upper,
            _ => return None,
        };
        let (this, other) = match side {
            ZoneSide::Lower => (&mut self.lower, &mut self.upper),
            ZoneSide::Upper => (&mut self.upper, &mut self.lower),
        };
        *this = members;
        // Both zones with their managers fit in 16 channels: the other shrinks.
        if members > 0 && *other > 0 && members + *other > 14 {
            *other = 14u8.saturating_sub(members);
        }
        Some(side)
    }

    /// Sets a zone's member count directly (settings and `--mpe`), with the
    /// same overlap rule as [`Zones::configure`].
    pub fn set(&mut self, side: ZoneSide, members: u8) {
        self.configure(side.manager(), members);
    }

    /// Whether any zone is on.
    pub fn any(&self) -> bool {
        self.lower > 0 || self.upper > 0
    }

    /// What `channel` (0-based) is.
    pub fn role(&self, channel: u8) -> Role {
        let c = channel & 15;
        if self.lower > 0 {
            if c == LOWER_MANAGER {
                return Role::Manager(ZoneSide::Lower);
            }
            if c <= self.lower {
                return Role::Member(ZoneSide::Lower);
            }
        }
        if self.upper > 0 {
            if c == UPPER_MANAGER {
                return Role::Manager(ZoneSide::Upper);
            }
            if c >= UPPER_MANAGER - self.upper {
                return Role::Member(ZoneSide::Upper);
            }
        }
        Role::Plain
    }

    /// The manager channel whose messages also apply to `channel`'s notes
    /// (`channel` itself for a manager), if `channel` is in a zone.
    pub fn manager_of(&self, channel: u8) -> Option<u8> {
        match self.role(channel) {
            Role::Plain => None,
            Role::Manager(side) | Role::Member(side) => Some(side.manager()),
        }
    }

    /// Whether a message on `from` applies to notes on `channel`: the same
    /// channel, or `from` is the manager of `channel`'s zone.
    pub fn reaches(&self, from: u8, channel: u8) -> bool {
        from == channel
            || matches!(self.role(from), Role::Manager(_)) && self.manager_of(channel) == Some(from)
    }

    /// The member channels (0-based) of a zone, in order from its manager.
    pub fn members(&self, side: ZoneSide) -> Vec<u8> {
        match side {
            ZoneSide::Lower => (1..=self.lower).collect(),
            ZoneSide::Upper => (0..self.upper).map(|i| UPPER_MANAGER - 1 - i).collect(),
        }
    }
}

/// Where per-note pressure or timbre goes: a voice parameter and the
/// values at MIDI 0 and 127 (linear between).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ExpressionTarget {
    /// The voice parameter.
    pub param: VoiceParam,
    /// Value at MIDI 0.
    pub min: f32,
    /// Value at MIDI 127.
    pub max: f32,
}

impl ExpressionTarget {
    /// `param` over its default span: `bow_force` 0..0.5, `damping` 1..0.25
    /// (more pressure, less damping: a longer ring), `gain` 1..2, anything
    /// else its documented range.
    pub fn new(param: VoiceParam) -> Self {
        let (min, max) = match param {
            VoiceParam::BowForce => (0.0, 0.5),
            VoiceParam::Damping => (1.0, 0.25),
            VoiceParam::Gain => (1.0, 2.0),
            p => (*p.range().start(), *p.range().end()),
        };
        Self { param, min, max }
    }

    /// The value for a 7-bit MIDI value.
    pub fn value(&self, midi: u8) -> f32 {
        self.min + (self.max - self.min) * f32::from(midi.min(127)) / 127.0
    }
}

/// MPE settings of a MIDI preset (`"mpe"` key) or `--mpe`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MpeSettings {
    /// Zones in force before any MPE Configuration Message arrives.
    pub zones: Zones,
    /// Bend range of member channels, semitones (default 48).
    pub member_bend_range: f32,
    /// Where channel pressure of member channels goes; `None`: by the
    /// instrument (bowed: `bow_force`; struck, plucked: `damping`).
    pub pressure: Option<ExpressionTarget>,
    /// Where CC74 of member channels goes; `None`: `brightness`.
    pub timbre: Option<ExpressionTarget>,
}

impl Default for MpeSettings {
    fn default() -> Self {
        Self {
            zones: Zones::default(),
            member_bend_range: MEMBER_BEND_RANGE,
            pressure: None,
            timbre: None,
        }
    }
}

impl MpeSettings {
    /// The pressure target for an instrument (bowed or not).
    pub fn pressure_for(&self, bowed: bool) -> ExpressionTarget {
        self.pressure.unwrap_or_else(|| {
            ExpressionTarget::new(if bowed {
                VoiceParam::BowForce
            } else {
                VoiceParam::Damping
            })
        })
    }

    /// The timbre (CC74) target.
    pub fn timbre_target(&self) -> ExpressionTarget {
        self.timbre
            .unwrap_or_else(|| ExpressionTarget::new(VoiceParam::Brightness))
    }
}

/// Damping scale a release velocity asks for: 64 (and 0, "not sent") is 1;
/// 127 about 4 (a quick release rings out sooner), 1 about 0.25.
pub fn release_damping(velocity: u8) -> f32 {
    if velocity == 0 {
        return 1.0;
    }
    ((f32::from(velocity.min(127)) - 64.0) / 32.0).exp2()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RPN 6 on channel 1 makes a lower zone, on 16 an upper zone; other channels mean nothing.
    #[test]
    fn lower_and_upper_zones() {
        let mut z = Zones::default();
        assert_eq!(z.configure(0, 7), Some(ZoneSide::Lower));
        assert_eq!(z.role(0), Role::Manager(ZoneSide::Lower));
        assert_eq!(z.role(1), Role::Member(ZoneSide::Lower));
        assert_eq!(z.role(7), Role::Member(ZoneSide::Lower));
        assert_eq!(z.role(8), Role::Plain);
        assert_eq!(z.configure(15, 4), Some(ZoneSide::Upper));
        assert_eq!(z.members(ZoneSide::Upper), vec![14, 13, 12, 11]);
        assert_eq!(z.role(15), Role::Manager(ZoneSide::Upper));
        assert_eq!(z.role(11), Role::Member(ZoneSide::Upper));
        assert_eq!(z.role(10), Role::Plain);
        assert_eq!(z.configure(5, 3), None);
        assert_eq!(z, Zones { lower: 7, upper: 4 });
        assert_eq!(z.manager_of(3), Some(0));
        assert_eq!(z.manager_of(12), Some(15));
        assert_eq!(z.manager_of(9), None);
        assert!(z.reaches(0, 3) && z.reaches(15, 12) && z.reaches(3, 3));
        assert!(!z.reaches(0, 12) && !z.reaches(3, 4) && !z.reaches(15, 3));
    }

    /// A zone that grows into the other shrinks it; all 15 members switch the other off.
    #[test]
    fn overlapping_zones_shrink_the_other() {
        let mut z = Zones::default();
        z.configure(15, 10);
        z.configure(0, 6);
        assert_eq!(z, Zones { lower: 6, upper: 8 });
        z.configure(0, 15);
        assert_eq!(
            z,
            Zones {
                lower: 15,
                upper: 0
            }
        );
        assert_eq!(z.role(15), Role::Member(ZoneSide::Lower));
        z.configure(15, 3);
        assert_eq!(
            z,
            Zones {
                lower: 11,
                upper: 3
            }
        );
        z.configure(15, 14);
        assert_eq!(
            z,
            Zones {
                lower: 0,
                upper: 14
            }
        );
        assert_eq!(z.role(0), Role::Plain);
        assert_eq!(z.role(1), Role::Member(ZoneSide::Upper));
    }

    /// 0 members switch a zone off; members above 15 count as 15.
    #[test]
    fn zero_members_disable() {
        let mut z = Zones::default();
        z.configure(0, 15);
        z.configure(0, 0);
        assert!(!z.any());
        assert_eq!(z.role(0), Role::Plain);
        assert_eq!(z.role(3), Role::Plain);
        z.configure(0, 99);
        assert_eq!(z.lower, 15);
    }

    /// Default expression targets: bowed pressure → bow_force, struck → less damping; CC74 → brightness.
    #[test]
    fn default_targets() {
        let s = MpeSettings::default();
        let bowed = s.pressure_for(true);
        assert_eq!(bowed.param, VoiceParam::BowForce);
        assert_eq!((bowed.value(0), bowed.value(127)), (0.0, 0.5));
        let struck = s.pressure_for(false);
        assert_eq!(struck.param, VoiceParam::Damping);
        assert!(struck.value(127) < struck.value(0));
        assert_eq!(s.timbre_target().param, VoiceParam::Brightness);
        assert_eq!(s.timbre_target().value(127), 1.0);
        assert_eq!(release_damping(64), 1.0);
        assert_eq!(release_damping(0), 1.0);
        assert!(release_damping(127) > 3.5 && release_damping(1) < 0.3);
    }
}
