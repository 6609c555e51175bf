//! A list of names held in one buffer.

/// Names in the order they were read, stored back to back in one string: a list of thousands of users costs
/// two allocations instead of one per name (which were most of `list_users`' cost).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Names {
    text: String,
    /// Where each name ends in `text`.
    ends: Vec<usize>,
}

impl Names {
    pub fn push(&mut self, name: &str) {
        self.text.push_str(name);
        self.ends.push(self.text.len());
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        (0..self.ends.len()).map(|index| {
            let start = index.checked_sub(1).map_or(0, |before| self.ends[before]);
            // Every end was a `str` boundary when it was pushed.
            &self.text[start..self.ends[index]]
        })
    }

    pub fn contains(&self, name: &str) -> bool {
        self.iter().any(|candidate| candidate == name)
    }
}

impl<S: AsRef<str>> FromIterator<S> for Names {
    fn from_iter<I: IntoIterator<Item = S>>(names: I) -> Names {
        let mut collected = Names::default();
        for name in names {
            collected.push(name.as_ref());
        }
        collected
    }
}

#[cfg(test)]
mod tests {
    use super::Names;

    #[test]
    fn names_come_back_as_pushed() {
        let names: Names = ["", "root", "ünïcode", "a", ""].into_iter().collect();
        assert_eq!(names.len(), 5);
        assert_eq!(
            names.iter().collect::<Vec<_>>(),
            ["", "root", "ünïcode", "a", ""]
        );
        assert!(names.contains("a") && names.contains("") && !names.contains("roo"));
        assert!(Names::default().is_empty());
    }
}
